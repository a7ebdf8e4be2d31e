// The answer to "status" on ctl.sock: one JSON object with readiness, addresses, table sizes and
// every fast-path and slow-path counter by name.
#pragma once
#include <nlohmann/json.hpp>

#include <vector>

#include "control_plane.hpp"
#include "drop_watch.hpp"
#include "virtuoso/abi/control_region.hpp"

namespace virtuoso::slowpath {

// `fp_attached`: the fast path said hello and is still connected.
nlohmann::json status_json(const ControlPlane& cp, const abi::ControlHeader& hdr, bool fp_attached);

// Every counter of something thrown away, by the process that did and its name in status
// ("fastpath.drop_bad_ip", "slowpath.bad_frames", ...): what the drop watch samples.
std::vector<DropCounter> drop_counters(const ControlPlane& cp, const abi::ControlHeader& hdr);

// The "connections" array: every connection with its slow-path, fast-path and app-ring state.
nlohmann::json connections_json(const ControlPlane& cp);

// The "faults" object: whether the fast path runs the fault injector, the settings `in_effect`,
// their generation and the one applied, and what was done to each direction.
nlohmann::json faults_status_json(const abi::ControlHeader& hdr, const abi::FaultSettings& in_effect);

}  // namespace virtuoso::slowpath
