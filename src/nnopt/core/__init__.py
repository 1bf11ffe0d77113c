"""Layer 1, the math core: the lecture's formulas as pure functions on arrays.

Data generators (``generateds``), the network (``forward``), losses, regularizers,
learning-rate schedules, the moving average and the optimizers, each with one registry
(name -> spec) that the config, the command line and the page read. Nothing here touches
a file, the terminal or a plot.
"""
