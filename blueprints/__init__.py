"""Declarative data shipped with osp: blueprints (one folder each) and environment presets."""
