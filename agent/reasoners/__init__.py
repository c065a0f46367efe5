"""The reasoners that decide which candidates a note supports: one interface, an offline reasoner
and an LLM reasoner (its prompts, the checks of its answers, the chat model)."""
