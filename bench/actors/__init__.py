"""Actor runtime benchmark: supervised actors against bare pykka and a bare thread."""
