"""TikTok Shop plugin: Open API 202309 client, hooks and a faithful local fake of several shops."""
