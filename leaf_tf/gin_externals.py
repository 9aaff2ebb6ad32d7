"""Keras objects that gin configs may reference (`@keras.initializers.Constant()`, ...).

leaf_tf's own classes register themselves (`leaf_tf.registry.register`); this
module adds the few Keras classes our configs use, under their Keras module
names so that `@Constant()` and `@keras.initializers.Constant()` both work.
"""

from __future__ import annotations

import gin
import keras

_EXTERNALS = {
    "keras.initializers": [keras.initializers.Constant],
    "keras.regularizers": [keras.regularizers.L1, keras.regularizers.L2, keras.regularizers.L1L2],
}

for _module, _classes in _EXTERNALS.items():
    for _cls in _classes:
        gin.external_configurable(_cls, module=_module)
