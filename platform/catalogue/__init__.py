"""Service catalogues of the bundled blueprints."""
