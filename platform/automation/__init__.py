"""Real Pulumi runs through the Automation API."""
