"""The server-rendered dashboard: pages read through the same repositories as the API and write through the
JSON API itself (from the browser, with the session cookie), so validation and rules live in one place."""
