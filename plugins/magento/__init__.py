"""The Magento 2 store plugin."""
