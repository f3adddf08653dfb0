"""Mentor: a Discord bot that keeps a community of aspiring AI engineers on track."""
