"""The fiscal port (:mod:`.port`) and its adapters: Emites-Client, Focus NFe, Integra Notas."""
