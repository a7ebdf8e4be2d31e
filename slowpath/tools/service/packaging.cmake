# Installing (cmake --install) and packaging (cpack -G DEB): programs, the shim, the service unit,
# tmpfiles, the configuration and the docs, in the places Debian uses. The unit names the
# installed paths, so configure with -DCMAKE_INSTALL_PREFIX=/usr (scripts/build.sh does) for a package.
include(GNUInstallDirs)

set(VIRTUOSO_CONFIG_DIR "${CMAKE_INSTALL_FULL_SYSCONFDIR}/virtuoso")
set(VIRTUOSO_CONFIG_FILE "${VIRTUOSO_CONFIG_DIR}/virtuoso.toml")
set(VIRTUOSO_RUN_DIR "/run/virtuoso")  # the config's run_dir default
set(service_dir ${CMAKE_CURRENT_LIST_DIR})
configure_file(${service_dir}/virtuoso.service.in ${CMAKE_BINARY_DIR}/service/virtuoso.service @ONLY)
configure_file(${service_dir}/virtuoso-tmpfiles.conf.in ${CMAKE_BINARY_DIR}/service/virtuoso.conf @ONLY)

install(TARGETS virtuosod virtuosoctl virtuoso-run virtuoso-slowpath virtuoso-fastpath
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# Preloaded, never linked against: a private directory (virtuoso-run looks in ../lib/virtuoso).
install(TARGETS tas_shim LIBRARY DESTINATION lib/virtuoso NAMELINK_SKIP)
install(FILES ${CMAKE_BINARY_DIR}/service/virtuoso.service DESTINATION lib/systemd/system)
install(FILES ${CMAKE_BINARY_DIR}/service/virtuoso.conf DESTINATION lib/tmpfiles.d)
# The example as the configuration, unless one is there (a re-install keeps the operator's; the
# package's staging directory is always empty, so the package has it).
install(CODE "
  if(NOT EXISTS \"\$ENV{DESTDIR}${VIRTUOSO_CONFIG_FILE}\")
    file(INSTALL \"${CMAKE_SOURCE_DIR}/docs/virtuoso.example.toml\" DESTINATION \"${VIRTUOSO_CONFIG_DIR}\"
         RENAME virtuoso.toml)
  endif()")
install(FILES ${CMAKE_SOURCE_DIR}/README.md ${CMAKE_SOURCE_DIR}/docs/architecture.md
              ${CMAKE_SOURCE_DIR}/docs/configuration.md ${CMAKE_SOURCE_DIR}/docs/deployment.md
              ${CMAKE_SOURCE_DIR}/docs/running-apps.md ${CMAKE_SOURCE_DIR}/docs/virtuoso.example.toml
        DESTINATION ${CMAKE_INSTALL_DOCDIR})

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME virtuoso)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "Virtuoso developers <virtuoso@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "shared TCP/IP stack for VMs and containers (DPDK fast path, socket shim)")
set(CPACK_PACKAGE_DESCRIPTION
    "One TCP/IP stack for every app, VM and container of a host: a DPDK fast path on dedicated cores, a slow path for connection setup, timers and policy, tenants on VXLAN networks with CPU-time budgets, and an LD_PRELOAD shim (virtuoso-run) for unmodified applications.")
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)  # dpkg-shlibdeps: DPDK, fmt, spdlog, toml++ as built against
# DPDK's drivers are plugins dpkg-shlibdeps cannot see: the mempool driver every start needs, the
# virtual ports', and (through dpdk's recommendations) the NICs' drivers and dpdk-devbind.py.
set(dpdk_abi "")
file(GLOB ring_libs "${DPDK_LIBDIR}/librte_mempool_ring.so.*")
foreach(lib ${ring_libs})
  if(lib MATCHES "\\.so\\.([0-9]+)$")
    set(dpdk_abi ${CMAKE_MATCH_1})
  endif()
endforeach()
if(dpdk_abi)
  set(CPACK_DEBIAN_PACKAGE_DEPENDS "librte-mempool-ring${dpdk_abi}")
  set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "dpdk, librte-net-af-xdp${dpdk_abi}, librte-net-tap${dpdk_abi}")
else()
  set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "dpdk")
endif()
configure_file(${service_dir}/conffiles.in ${CMAKE_BINARY_DIR}/service/conffiles @ONLY)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${CMAKE_BINARY_DIR}/service/conffiles ${service_dir}/postinst
    ${service_dir}/prerm ${service_dir}/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
