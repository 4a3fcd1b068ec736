// What the commands that take --model FILE [--tensor NAME] share: opening the file and picking
// the tensor, each failure one line on stderr and exit status 2 (tool_errors.hpp).
#pragma once

#include <embtab/embtab.hpp>
#include <string>

namespace embtab::tool {

// model_file::open(path); a file_error becomes "embtab <command>: <its message>", status 2.
model_file open_model(const std::string& command, const std::string& path);

// The tensor named `name`, or the file's token table when `name` is empty. Fails (status 2)
// naming the file when there is none, and saying why when the tensor was skipped.
const tensor_info& pick_tensor(const std::string& command, const model_file& file, const std::string& name);

}  // namespace embtab::tool
