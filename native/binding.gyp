{
  "targets": [
    {
      "target_name": "cxr_native",
      "sources": [
        "src/addon.cc",
        "src/augment.cc",
        "src/blas.cc",
        "src/gemm.cc",
        "src/parallel.cc",
        "src/conv.cc",
        "src/conv_direct.cc",
        "src/pool2d.cc",
        "src/matmul.cc",
        "src/batchnorm.cc",
        "src/elementwise.cc",
        "src/roialign.cc"
      ],
      "libraries": ["-lpthread", "-ldl"],
      "cflags!": ["-O2"],
      "cflags_cc!": ["-O2", "-fno-exceptions"],
      "cflags": ["-O3"],
      "cflags_cc": ["-O3", "-std=c++17", "-fexceptions"]
    }
  ]
}
