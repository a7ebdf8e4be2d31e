// The fast path's connection to the slow path: hello, received file descriptors, doorbells.
#pragma once
#include <string>

#include "datapath.hpp"
#include "virtuoso/abi/control_region.hpp"
#include "virtuoso/wire/ethernet.hpp"

namespace virtuoso::fastpath {

class SlowpathLink final : public Host {
 public:
  ~SlowpathLink() override;

  // Connects to <run_dir>/fp.sock, says hello with our MAC and maps the control region.
  bool connect(const std::string& run_dir, const wire::MacAddr& mac, std::string& error);
  abi::ControlRegionView control() const { return control_; }
  uint32_t local_ip() const { return local_ip_; }
  int own_doorbell() const { return fp_doorbell_; }
  // True while the slow path's end of the socket is open (checked without blocking).
  bool slowpath_alive();

  int attach_context(uint16_t ctx, const abi::AppLayout& layout, Mapping& out) override;
  void detach_context(uint16_t ctx, Mapping& mapping) override;
  void ring(int fd) override;
  void ring_slowpath() override { ring(sp_doorbell_); }

 private:
  int sock_ = -1;
  int control_fd_ = -1;
  int sp_doorbell_ = -1;
  int fp_doorbell_ = -1;
  abi::ControlRegionView control_{};
  size_t control_bytes_ = 0;
  uint32_t local_ip_ = 0;
};

}  // namespace virtuoso::fastpath
