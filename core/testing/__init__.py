"""The plugin contract test kit and the fake-server runner, shipped to plugin authors."""
