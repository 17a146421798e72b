"""Everything that knows how Genesys Cloud is reached: the Pulumi binding, the REST client, dynamic resources."""
