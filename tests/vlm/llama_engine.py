"""llama-cpp-python's OpenAI-compatible server with the model's weights in plain CPU buffers.

llama.cpp built on the machine it runs on compiles in the CPU's own kernels; on an Intel Xeon with AMX,
weights placed in its "extra" buffer types go through ``ggml_backend_amx_mul_mat``, which crashes on the
first completion. Without extra buffer types (``use_extra_bufts``, llama.cpp's ``--no-repack``) every
matrix product runs on the portable CPU path, on any x86-64 machine. Same arguments as
``python -m llama_cpp.server``."""

import llama_cpp.llama_cpp as lib

_defaults = lib.llama_model_default_params


def _plain_buffers():
    params = _defaults()
    params.use_extra_bufts = False
    return params


if __name__ == "__main__":
    lib.llama_model_default_params = _plain_buffers
    from llama_cpp.server.__main__ import main

    main()
