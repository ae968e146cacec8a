"""Settlement: claims created at receipt and everything that discharges them."""
