// What the control plane needs from the configuration, as plain values (tests fill it directly).
#pragma once
#include <cstdint>
#include <vector>

#include "config/tenants.hpp"

#include "virtuoso/abi/app_region.hpp"

namespace virtuoso::slowpath {

struct Settings {
  // network
  uint32_t local_ip = 0;  // host byte order
  unsigned prefix_len = 24;
  uint32_t gateway = 0;  // 0: no gateway, off-link peers are unreachable
  unsigned mtu = 1500;
  // tcp
  unsigned initial_rto_ms = 1000;
  unsigned min_rto_ms = 200;
  unsigned max_rto_ms = 60000;
  unsigned max_retries = 8;
  unsigned syn_retries = 6;
  unsigned time_wait_ms = 2000;
  unsigned fin_wait2_timeout_ms = 60000;  // orphaned FIN_WAIT_2 (the app has closed) gives up after this
  bool timestamps = true;  // offer RFC 7323 timestamps (RTT samples, PAWS)
  bool sack = true;        // offer RFC 2018 selective acknowledgements
  bool ecn = true;         // accept and request RFC 3168 ECN (CE marks are echoed)
  config::CongestionAlgo congestion_control = config::CongestionAlgo::kCubic;  // flows leaving the host; a tenant may choose its own
  config::CongestionByPort congestion_by_port;  // the host's listening ports with their own algorithm
  bool syn_cookies = true;  // RFC 4987 3.6 when a listener's half-open table is full (syn_cookie.hpp)
  // Pace flows under congestion control at their window per round trip (times 2 in slow start, 1.2
  // after, as Linux's tcp_pacing_ss_ratio / ca_ratio); an app's SO_MAX_PACING_RATE applies either way.
  bool pacing = true;
  // Keepalive defaults for a socket that enables SO_KEEPALIVE without TCP_KEEP* (Linux's sysctls).
  unsigned keepalive_time_s = 7200;   // idle time before the first probe
  unsigned keepalive_intvl_s = 75;    // between unanswered probes
  unsigned keepalive_probes = 9;      // unanswered probes before ETIMEDOUT
  // Challenge ACKs (RFC 5961 3.2, 4.2) the whole stack sends per second (RFC 5961 10).
  unsigned challenge_ack_limit = 1000;
  unsigned rst_limit = 1000;  // resets answering segments to no connection, per second (bursts of 50)
  uint16_t ephemeral_lo = 32768;
  uint16_t ephemeral_hi = 60999;
  // arp
  unsigned arp_retry_ms = 1000;
  unsigned arp_tries = 3;
  unsigned arp_ttl_ms = 300000;  // a learned entry is trusted this long after it was last seen
  // apps
  unsigned max_contexts = 64;
  uint32_t max_flows = 16384;
  uint32_t max_backlog = 4096;  // listen backlogs are clamped to this (SOMAXCONN)
  abi::AppLayout app_layout{1024, 65536, 65536, 4096, 4096, 1024};
  // Tenants ([[tenant]]), tenant id i+1 for entry i; empty: plain mode.
  std::vector<config::TenantConfig> tenants;
  // Secret key for initial sequence numbers and ephemeral port selection (RFC 6528, RFC 6056).
  uint64_t secret0 = 0;
  uint64_t secret1 = 0;
};

}  // namespace virtuoso::slowpath
