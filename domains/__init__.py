"""Domain analyzers and the offline domain agents (healthcare, finance, sports, business, general)."""
