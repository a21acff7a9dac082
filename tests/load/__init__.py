"""Load and soak: 20 browser sessions at 1,000 simulated functions, and 30 simulated minutes of refreshes."""
