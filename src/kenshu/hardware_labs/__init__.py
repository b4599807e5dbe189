"""hardware_labs"""
