"""Dead letters: poison messages kept with their context for operators."""
