"""The training methods (Keras trainers); `lbt_tf.methods` names them."""
