"""Exchange rates: every conversion names the rate it used."""
