"""pytest plugin of the contract test kit (fixtures land with the kit)."""
