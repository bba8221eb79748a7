import sys

from bench.instruments.run import main

sys.exit(main())
