// Placeholder: the launcher is written in its own change.
export {};
