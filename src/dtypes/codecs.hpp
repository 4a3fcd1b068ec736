// Internal: every dtype's codec (one include per codec file). Baseline-flag objects only.
#pragma once

#include "f32.hpp"
#include "ggml.hpp"
#include "half.hpp"
#include "int8_rowwise.hpp"
