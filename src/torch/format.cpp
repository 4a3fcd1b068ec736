// PyTorch 1.13's _tensor_str.py for float32, rank 1 and 2, default print options. Python formats the
// double of each float32 value; glibc's printf rounds the same exact binary value the same way
// (correctly, ties to even), so "%.4f" is "{:.4f}".
#include "embtab/torch.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

namespace embtab::torch {
namespace {

constexpr int precision = 4;
constexpr std::size_t threshold = 1000;
constexpr std::size_t edgeitems = 3;
constexpr std::size_t linewidth = 80;
constexpr std::size_t indent = 7;  // "tensor("

// Python's "{:.Nf}" / "{:.Ne}" of a double: inf and nan without printf's "-nan".
std::string python_format(double v, int digits, char conversion) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v < 0 ? "-inf" : "inf";
  char buf[400];  // %.4f of the largest float: 39 digits
  const char format[] = {'%', '.', '*', conversion, '\0'};
  std::snprintf(buf, sizeof buf, format, digits, v);
  return buf;
}

std::string pad_left(std::string s, std::size_t width) {
  if (s.size() < width) s.insert(0, width - s.size(), ' ');
  return s;
}

// _Formatter for float tensors: the notation and width come from the nonzero finite values.
class float_formatter {
 public:
  explicit float_formatter(const std::vector<float>& values) {
    std::vector<float> nonzero;
    for (const float v : values)
      if (std::isfinite(v) && v != 0.0f) nonzero.push_back(v);
    if (nonzero.empty()) return;
    double min_abs = std::numeric_limits<double>::infinity(), max_abs = 0;
    for (const float v : nonzero) {
      min_abs = std::min(min_abs, std::fabs(static_cast<double>(v)));
      max_abs = std::max(max_abs, std::fabs(static_cast<double>(v)));
    }
    int_mode_ = std::all_of(nonzero.begin(), nonzero.end(),
                            [](float v) { return v == std::ceil(v); });
    const bool wide_range = max_abs / min_abs > 1000.0 || max_abs > 1.0e8;
    sci_mode_ = wide_range || (!int_mode_ && min_abs < 1.0e-4);
    for (const float v : nonzero) {
      const std::size_t w = sci_mode_  ? python_format(v, precision, 'e').size()
                            : int_mode_ ? python_format(v, 0, 'f').size() + 1  // the "."
                                        : python_format(v, precision, 'f').size();
      width_ = std::max(width_, w);
    }
  }
  std::size_t width() const noexcept { return width_; }
  std::string operator()(float v) const {
    std::string s;
    if (sci_mode_) {
      s = python_format(v, precision, 'e');
    } else if (int_mode_) {
      s = python_format(v, 0, 'f');
      if (std::isfinite(v)) s += '.';
    } else {
      s = python_format(v, precision, 'f');
    }
    return pad_left(std::move(s), width_);
  }

 private:
  bool int_mode_ = true;
  bool sci_mode_ = false;
  std::size_t width_ = 1;
};

// The indices of a dimension of size n that are printed: all, or the edge items on each side.
std::vector<std::size_t> shown(std::size_t n, bool summarize) {
  std::vector<std::size_t> idx;
  if (summarize && n > 2 * edgeitems) {
    for (std::size_t i = 0; i < edgeitems; ++i) idx.push_back(i);
    for (std::size_t i = n - edgeitems; i < n; ++i) idx.push_back(i);
  } else {
    for (std::size_t i = 0; i < n; ++i) idx.push_back(i);
  }
  return idx;
}

std::string vector_str(const float* v, std::size_t n, std::size_t ind, bool summarize,
                       const float_formatter& f) {
  const std::size_t element_length = f.width() + 2;  // with ", "
  const std::size_t per_line =
      std::max<std::size_t>(1, linewidth > ind ? (linewidth - ind) / element_length : 0);
  std::vector<std::string> data;
  const bool cut = summarize && n > 2 * edgeitems;
  for (const std::size_t i : shown(n, summarize)) {
    if (cut && i == n - edgeitems) data.emplace_back(" ...");
    data.push_back(f(v[i]));
  }
  std::string s = "[";
  for (std::size_t i = 0; i < data.size(); ++i) {
    if (i > 0) s += i % per_line == 0 ? ",\n" + std::string(ind + 1, ' ') : ", ";
    s += data[i];
  }
  return s + "]";
}

}  // namespace

std::string format(std::span<const float> values, std::span<const std::size_t> shape) {
  if (shape.size() != 1 && shape.size() != 2)
    throw std::invalid_argument("embtab::torch::format: rank " + std::to_string(shape.size()) +
                                ", expected 1 or 2");
  const std::size_t rows = shape.size() == 2 ? shape[0] : 1;
  const std::size_t cols = shape.back();
  if (values.size() != rows * cols)
    throw std::invalid_argument("embtab::torch::format: " + std::to_string(values.size()) +
                                " values for the shape");
  if (values.empty()) {
    std::string s = "tensor([]";
    if (shape.size() != 1)
      s += ", size=(" + std::to_string(shape[0]) + ", " + std::to_string(shape[1]) + ")";
    return s + ")";
  }

  const bool summarize = values.size() > threshold;
  std::vector<float> summary;  // get_summarized_data: what the formatter sees
  for (const std::size_t r : shown(rows, summarize && shape.size() == 2))
    for (const std::size_t c : shown(cols, summarize)) summary.push_back(values[r * cols + c]);
  const float_formatter f(summary);

  if (shape.size() == 1)
    return "tensor(" + vector_str(values.data(), cols, indent, summarize, f) + ")";
  std::string s = "tensor([";
  bool first = true;
  for (const std::size_t r : shown(rows, summarize)) {
    if (!first) s += ",\n" + std::string(indent + 1, ' ');
    if (summarize && rows > 2 * edgeitems && r == rows - edgeitems)
      s += "...,\n" + std::string(indent + 1, ' ');
    s += vector_str(values.data() + r * cols, cols, indent + 1, summarize, f);
    first = false;
  }
  return s + "])";
}

}  // namespace embtab::torch
