"""People analytics: decode -> detect -> track -> count/classify -> sinks, on files and live channels."""
