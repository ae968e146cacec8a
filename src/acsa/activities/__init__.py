"""Activities: the exercises and missions every order is placed under."""
