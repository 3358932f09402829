"""What commands show of the store: stored records shaped as the JSON of `runs --json` and
`hooks --json` (the store returns rows; these modules decide their public shape)."""
