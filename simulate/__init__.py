"""Fast CPU simulator of randomly initialised networks (signal + tangent noise, moments)."""
