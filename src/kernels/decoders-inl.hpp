// Every SIMD decoder (one include per dtype that has one). Included by gather_<isa>.cpp only.
#pragma once

#include "decode_bf16-inl.hpp"
#include "decode_f16-inl.hpp"
#include "decode_f32-inl.hpp"
#include "decode_ggml-inl.hpp"
#include "decode_int8_rowwise-inl.hpp"
#include "gather-inl.hpp"
