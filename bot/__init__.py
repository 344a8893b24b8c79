"""The Slack side of the support router: settings, the Bolt app and its listeners, and the decision store."""
