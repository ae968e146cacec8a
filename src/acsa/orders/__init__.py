"""Orders: from request to acceptance, delivery, receipt, settlement and closing."""
