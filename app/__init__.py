"""The application layer: the bundled education services on EKS (see the app issue)."""
