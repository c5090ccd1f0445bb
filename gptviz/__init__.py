"""gptviz: build a small GPT, train it live, and watch it learn."""
