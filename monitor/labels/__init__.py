"""Labels that arrive after their predictions: the labels sources (a role of its own in the
plugin registry) and the rule that decides what each arrived label does."""
