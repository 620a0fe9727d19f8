// Placeholder: the rules lookup benchmark (see bench/README.md).
print("rules-bench: not written yet")
