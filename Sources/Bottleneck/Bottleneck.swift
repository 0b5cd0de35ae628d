// The umbrella module: `import Bottleneck` gives the whole public API. Each layer of the library
// is its own target, so a reference upward (say, from an op to a model) does not compile:
//   BottleneckCore      tensor, autodiff, ops, BLAS/oneDNN, seeded generator, errors, JSON
//   BottleneckNN        layers, losses and metrics, optimizers            (uses Core)
//   BottleneckData      datasets, scaling, readers and writers of files    (uses Core)
//   BottleneckTraining  architectures, models, objectives, the trainer, model files (uses NN, Data)
//   BottleneckApps      anomaly detection, restoration, compression, retrieval, probe, PCA, benchmarks,
//                       charts, t-SNE, the HTML report                                 (uses Training)
//   BottleneckONNX      model bundles as ONNX graphs (swift-protobuf)                  (uses Training)
@_exported import BottleneckCore
@_exported import BottleneckNN
@_exported import BottleneckData
@_exported import BottleneckTraining
@_exported import BottleneckApps
@_exported import BottleneckONNX
