"""Infrastructure-as-code generator: one customer identity across Genesys Cloud web messaging and SMS."""
