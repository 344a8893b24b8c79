"""Slack-agnostic routing domain: configuration, classifiers, handlers, escalation policy, evaluation."""
