# cmake -DSOURCE=F -DDEST=G -DSHA256=H -P copy_checked.cmake: copies F to G
# only if F's sha256 is H (a pinned model file).
if(NOT EXISTS "${SOURCE}")
  message(FATAL_ERROR "${SOURCE} is missing: run scripts/setup.sh to fetch it")
endif()
file(SHA256 "${SOURCE}" _got)
if(NOT _got STREQUAL SHA256)
  message(FATAL_ERROR "${SOURCE} has sha256 ${_got}, expected ${SHA256}: refusing to use it")
endif()
file(COPY_FILE "${SOURCE}" "${DEST}")
