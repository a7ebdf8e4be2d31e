// Attaching to the daemon over app.sock: register, receive the region and the doorbells, map the
// region and check it before anything reads it; and the channel that carries later requests.
#pragma once
#include <memory>
#include <string>

#include "context.hpp"
#include "kernel_ops.hpp"

namespace virtuoso::shim {

// How long one request may wait for its answer before the link counts as broken.
inline constexpr int kRequestTimeoutSec = 10;

// A request channel over a Unix seqpacket link to the daemon (a fork hold link); owns `fd`.
std::unique_ptr<RequestChannel> make_unix_channel(const KernelOps& k, int fd);

// $VIRTUOSO_RUN_DIR, or /run/virtuoso.
std::string run_dir_from_env();

// Connects to <run_dir>/app.sock and registers. On failure prints one line to stderr saying why
// (once per process and kind of failure) and returns -EAFNOSUPPORT: the app's socket() fails
// as if the address family were missing. A refusal that is about this app is returned as is:
// -EACCES (it belongs to no tenant), -ENOMEM (its tenant's max_shm_mb), -EMFILE (no context left).
int attach_to_daemon(const KernelOps& k, const std::string& run_dir, std::shared_ptr<Context>& out);

// Checks a received layout and the header of the mapped region against it; empty if fine, else
// what is wrong (for the error line).
std::string check_region(const abi::AppLayout& layout, const abi::AppRegionHeader& h,
                         size_t mapped_bytes);

}  // namespace virtuoso::shim
