# Debian ships OpenCVConfig.cmake only with the meta package libopencv-dev,
# which pulls in every OpenCV module. We need three: find them directly.
# Not imgcodecs: it links 140 shared libraries (GDAL, DICOM, HDF5...) and made
# every `spatial` process start ~100 ms slower; src/vision/codec.cc does its job.
find_path(OPENCV_INCLUDE_DIR opencv2/core.hpp PATH_SUFFIXES opencv4 REQUIRED)
add_library(opencv_parts INTERFACE)
target_include_directories(opencv_parts SYSTEM INTERFACE ${OPENCV_INCLUDE_DIR})
foreach(part core imgproc dnn)
  find_library(OPENCV_${part}_LIBRARY opencv_${part} REQUIRED)
  target_link_libraries(opencv_parts INTERFACE ${OPENCV_${part}_LIBRARY})
endforeach()
