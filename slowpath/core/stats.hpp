// Slow-path counters, each with the name it has in the status JSON.
#pragma once
#include <cstdint>

namespace virtuoso::slowpath {

struct SlowpathStats {
  uint64_t punted_frames = 0;        // frames taken from the punt queue
  uint64_t bad_frames = 0;           // unparsable, bad checksum, not for us
  uint64_t arp_frames = 0;
  uint64_t arp_cache_full = 0;       // senders not learned: the ARP cache was full of live entries
  uint64_t arp_requests_sent = 0;
  uint64_t arp_failures = 0;         // connections failed with EHOSTUNREACH
  uint64_t vxlan_frames = 0;         // tenants' frames punted inside VXLAN
  uint64_t vxlan_dropped = 0;        // of those: malformed, unknown VNI, or not for the tenant
  uint64_t switch_no_entry = 0;      // from an inner address no remote entry of the tenant holds, or the wrong VTEP
  uint64_t switch_flows_ended = 0;   // connections failed with EHOSTUNREACH: a switch change took their path away
  uint64_t inner_arp_replies = 0;    // ARP requests inside a virtual network answered for a tenant's address
  uint64_t inner_echo_replies = 0;   // pings of a tenant's address answered inside its virtual network
  uint64_t icmp_rate_limited = 0;    // of those, not answered: over the ICMP rate (1000/s, bursts of 50)
  uint64_t apps_refused = 0;         // registrations refused: tenants are configured and the app is none of theirs
  uint64_t tenant_refusals = 0;      // bind/listen/connect naming an address or network the app's tenant
                                     // lacks, and fork() children of another tenant taking the parent's sockets
  uint64_t log_lines_suppressed = 0;  // refusal and fault lines not logged (rate limit, core/log_limit.hpp)
  uint64_t tenant_limit_refusals = 0;  // connects, SYNs, listens and apps refused by a tenant's [tenant.limits]
  uint64_t rsts_sent = 0;
  uint64_t rsts_limited = 0;         // segments to no connection left unanswered: over rst_limit
  uint64_t rsts_received = 0;        // acceptable resets that ended a connection
  uint64_t rsts_ignored = 0;         // resets outside the window or for nothing
  uint64_t challenge_acks = 0;       // RFC 5961 ACKs for in-window RST and for SYN on a connection
  uint64_t challenge_acks_limited = 0;  // challenge ACKs not sent: over challenge_ack_limit this second
  uint64_t keepalive_probes = 0;
  uint64_t keepalive_timeouts = 0;   // connections failed with ETIMEDOUT after unanswered probes
  uint64_t syn_received = 0;
  uint64_t syn_dropped_backlog = 0;
  uint64_t syn_dropped_no_memory = 0;  // too many half-open connections in total
  uint64_t syn_cookies_sent = 0;       // SYN-ACKs carrying a cookie (the half-open table was full)
  uint64_t syn_cookies_accepted = 0;   // ACKs whose cookie checked: connections made without an entry
  uint64_t synack_retransmits = 0;
  uint64_t half_open_expired = 0;
  uint64_t accept_no_resources = 0;  // completing ACK dropped: no flow entry or slot free
  uint64_t passive_opens = 0;
  uint64_t active_opens = 0;
  uint64_t connect_failures = 0;
  uint64_t syn_retransmits = 0;
  uint64_t retransmit_timeouts = 0;
  uint64_t congestion_cuts = 0;      // congestion windows cut: a loss recovery, or a round trip with ECE echoes
  uint64_t congestion_undos = 0;     // loss cuts undone: every resend of the recovery was a duplicate (D-SACK)
  uint64_t window_probes = 0;
  uint64_t aborts_timeout = 0;
  uint64_t aborts_app = 0;           // kAbort, or flows with unread data of an app that went away
  uint64_t orphans_closed = 0;       // flows of an app that went away, closed with a FIN instead
  uint64_t fin_wait2_timeouts = 0;
  uint64_t resets_resent = 0;        // aborts whose first RST was stale: the fast path sent more first
  uint64_t time_wait_expired = 0;
  uint64_t time_wait_acks = 0;       // ACKs answering a TIME_WAIT record's peer (retransmitted FIN...)
  uint64_t time_wait_reopened = 0;   // a new SYN ended a TIME_WAIT record (RFC 1122 4.2.2.13)
  uint64_t time_wait_overflow = 0;   // no record kept: too many in TIME_WAIT already
  uint64_t closed_orderly = 0;
  uint64_t frames_reinjected = 0;    // segments of a just-installed flow sent back to the fast path
  uint64_t segments_dropped = 0;     // segments with nothing to do (closing flow, unexpected flags)
  uint64_t flow_errors = 0;          // FpEvent kFlowError
  uint64_t ctx_faults = 0;           // FpEvent kCtxFault
  uint64_t app_requests = 0;
  uint64_t app_request_errors = 0;
  uint64_t fork_holds = 0;           // hold links made for fork() children (kForkHold)
  uint64_t flows_moved = 0;          // connections moved into a forked process's context (kClaim)
  uint64_t flows_taken = 0;          // of those, taken from an app that still held them
  uint64_t claims_failed = 0;        // kClaim answered or completed with an error
  uint64_t syn_dropped_no_owner = 0; // SYN for a listener only unregistered fork() children hold
  uint64_t icmp_errors = 0;          // ICMP unreachable acted on: its quote matched a connection's unacknowledged data
  uint64_t icmp_ignored = 0;         // ICMP unreachable for no connection of ours, or quoting what we did not send
  uint64_t path_mtu_reductions = 0;  // connections whose segments a "fragmentation needed" made smaller
};

struct StatField {
  const char* name;
  uint64_t SlowpathStats::*field;
};

inline constexpr StatField kSlowpathStatFields[] = {
    {"punted_frames", &SlowpathStats::punted_frames},
    {"bad_frames", &SlowpathStats::bad_frames},
    {"arp_frames", &SlowpathStats::arp_frames},
    {"arp_cache_full", &SlowpathStats::arp_cache_full},
    {"arp_requests_sent", &SlowpathStats::arp_requests_sent},
    {"arp_failures", &SlowpathStats::arp_failures},
    {"vxlan_frames", &SlowpathStats::vxlan_frames},
    {"vxlan_dropped", &SlowpathStats::vxlan_dropped},
    {"switch_no_entry", &SlowpathStats::switch_no_entry},
    {"switch_flows_ended", &SlowpathStats::switch_flows_ended},
    {"inner_arp_replies", &SlowpathStats::inner_arp_replies},
    {"inner_echo_replies", &SlowpathStats::inner_echo_replies},
    {"icmp_rate_limited", &SlowpathStats::icmp_rate_limited},
    {"tenant_refusals", &SlowpathStats::tenant_refusals},
    {"tenant_limit_refusals", &SlowpathStats::tenant_limit_refusals},
    {"log_lines_suppressed", &SlowpathStats::log_lines_suppressed},
    {"apps_refused", &SlowpathStats::apps_refused},
    {"rsts_sent", &SlowpathStats::rsts_sent},
    {"rsts_limited", &SlowpathStats::rsts_limited},
    {"rsts_received", &SlowpathStats::rsts_received},
    {"rsts_ignored", &SlowpathStats::rsts_ignored},
    {"challenge_acks", &SlowpathStats::challenge_acks},
    {"challenge_acks_limited", &SlowpathStats::challenge_acks_limited},
    {"keepalive_probes", &SlowpathStats::keepalive_probes},
    {"keepalive_timeouts", &SlowpathStats::keepalive_timeouts},
    {"syn_received", &SlowpathStats::syn_received},
    {"syn_dropped_backlog", &SlowpathStats::syn_dropped_backlog},
    {"syn_dropped_no_memory", &SlowpathStats::syn_dropped_no_memory},
    {"syn_cookies_sent", &SlowpathStats::syn_cookies_sent},
    {"syn_cookies_accepted", &SlowpathStats::syn_cookies_accepted},
    {"synack_retransmits", &SlowpathStats::synack_retransmits},
    {"half_open_expired", &SlowpathStats::half_open_expired},
    {"accept_no_resources", &SlowpathStats::accept_no_resources},
    {"passive_opens", &SlowpathStats::passive_opens},
    {"active_opens", &SlowpathStats::active_opens},
    {"connect_failures", &SlowpathStats::connect_failures},
    {"syn_retransmits", &SlowpathStats::syn_retransmits},
    {"retransmit_timeouts", &SlowpathStats::retransmit_timeouts},
    {"congestion_cuts", &SlowpathStats::congestion_cuts},
    {"congestion_undos", &SlowpathStats::congestion_undos},
    {"window_probes", &SlowpathStats::window_probes},
    {"aborts_timeout", &SlowpathStats::aborts_timeout},
    {"aborts_app", &SlowpathStats::aborts_app},
    {"orphans_closed", &SlowpathStats::orphans_closed},
    {"fin_wait2_timeouts", &SlowpathStats::fin_wait2_timeouts},
    {"resets_resent", &SlowpathStats::resets_resent},
    {"time_wait_expired", &SlowpathStats::time_wait_expired},
    {"time_wait_acks", &SlowpathStats::time_wait_acks},
    {"time_wait_reopened", &SlowpathStats::time_wait_reopened},
    {"time_wait_overflow", &SlowpathStats::time_wait_overflow},
    {"closed_orderly", &SlowpathStats::closed_orderly},
    {"frames_reinjected", &SlowpathStats::frames_reinjected},
    {"segments_dropped", &SlowpathStats::segments_dropped},
    {"flow_errors", &SlowpathStats::flow_errors},
    {"ctx_faults", &SlowpathStats::ctx_faults},
    {"app_requests", &SlowpathStats::app_requests},
    {"app_request_errors", &SlowpathStats::app_request_errors},
    {"fork_holds", &SlowpathStats::fork_holds},
    {"flows_moved", &SlowpathStats::flows_moved},
    {"flows_taken", &SlowpathStats::flows_taken},
    {"claims_failed", &SlowpathStats::claims_failed},
    {"syn_dropped_no_owner", &SlowpathStats::syn_dropped_no_owner},
    {"icmp_errors", &SlowpathStats::icmp_errors},
    {"icmp_ignored", &SlowpathStats::icmp_ignored},
    {"path_mtu_reductions", &SlowpathStats::path_mtu_reductions},
};

}  // namespace virtuoso::slowpath
