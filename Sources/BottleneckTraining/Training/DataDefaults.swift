import BottleneckCore
import BottleneckNN
import BottleneckData

/// The model and run chosen from the data when a run on tabular rows names no architecture
/// (issue 19). A preset's fixed sizes suit images, not tables: the `dense` preset's 32-unit code
/// is larger than a table of 20 columns (an overcomplete code learns the identity), and 5 epochs
/// of a few hundred rows are a dozen optimizer steps. Measured on the six tabular fixtures
/// (`scripts/quality/tabular.sh`), the rule here beat IsolationForest on average where the
/// `dense` preset with 5 epochs fell 0.17 below it on one dataset.
///
/// The rule: a code of a quarter of the inputs (at least 2, always fewer than the inputs), one
/// hidden layer of `max(32, 2 × code)` ReLU units on each side, a linear code, an output that can
/// reach the scaled values (sigmoid for unit scaling, linear otherwise), batches of 32 and about
/// 3000 optimizer steps; from 1000 rows on, 10% is held out for early stopping. Settings the user
/// gave are kept, and the rest is fitted around them (a given batch size changes the epochs).
/// Stored in the model file (`ModelFileKey.defaults`) so the choice can be seen afterwards.
public struct DataDefaults: Codable, Equatable, Sendable {
    /// Training rows the rule saw (after a class restriction, before a validation split).
    public var rows: Int
    /// Input features per row.
    public var features: Int
    public var codeSize: Int
    public var hiddenUnits: Int
    /// The decoder's output: "sigmoid" (unit scaling) or "linear".
    public var output: String
    /// The run's settings: chosen, or the user's where `kept` names them.
    public var epochs: Int
    public var batchSize: Int
    public var validationFraction: Double
    public var patience: Int?
    /// The settings the user gave that the rule kept (`ConfigField` names, e.g. "epochs", "codeSize").
    public var kept: [String]

    /// Optimizer steps the rule aims for.
    public static let targetSteps = 3000
    /// Rows from which a validation split is held out for early stopping: below it every row is
    /// needed for training.
    public static let validationFrom = 1000

    /// Whether `data` gets defaults from the data: rows of features (images and sequences keep
    /// their presets).
    public static func applies(to sampleShape: [Int]) -> Bool { sampleShape.count == 1 }

    /// The choice for `rows` rows of `features` columns scaled by `scaling`, keeping the code
    /// size and the settings of `config` named in `given`.
    public init(rows: Int, features: Int, scaling: Scaler.Kind, codeSize: Int? = nil, config: TrainingConfig, given: Set<ConfigField>) {
        self.rows = rows
        self.features = features
        let k = codeSize ?? min(max(2, Int((Double(features) / 4).rounded())), max(1, features - 1))
        self.codeSize = k
        hiddenUnits = max(32, 2 * k)
        output = scaling == .unit ? "sigmoid" : "linear"
        var kept: [ConfigField] = codeSize == nil ? [] : [.codeSize]
        kept += [ConfigField.epochs, .batchSize, .validationFraction, .patience].filter(given.contains)
        self.kept = kept.map(\.name)
        let holdOut = !given.contains(.validationFraction) && !given.contains(.patience) && rows >= Self.validationFrom
        validationFraction = holdOut ? 0.1 : config.validationFraction
        batchSize = given.contains(.batchSize) ? config.batchSize : 32
        let batches = Self.batchesPerEpoch(rows: rows, validationFraction: validationFraction, batchSize: batchSize)
        epochs = given.contains(.epochs) ? config.epochs : max(1, (Self.targetSteps + batches - 1) / batches)
        patience = holdOut ? max(5, epochs / 10) : config.patience
    }

    /// Batches per epoch: of the rows left after the validation split (`Dataset.split`'s count).
    public var batchesPerEpoch: Int { Self.batchesPerEpoch(rows: rows, validationFraction: validationFraction, batchSize: batchSize) }

    static func batchesPerEpoch(rows: Int, validationFraction: Double, batchSize: Int) -> Int {
        let trainRows = max(1, rows - Int((Double(rows) * validationFraction).rounded()))
        return (trainRows + batchSize - 1) / batchSize
    }

    /// The choice for `data` (restricted to `classes` when given).
    public init(data: Dataset, classes: Set<Int>?, scaling: Scaler.Kind, codeSize: Int? = nil, config: TrainingConfig, given: Set<ConfigField>) {
        var rows = data.count
        if let classes, let labels = data.labels { rows = labels.filter(classes.contains).count }
        self.init(rows: rows, features: data.featureCount, scaling: scaling, codeSize: codeSize, config: config, given: given)
    }

    /// d -> hidden ReLU -> code (linear) -> hidden ReLU -> d (sigmoid or linear).
    public var architecture: ArchitectureSpec {
        func linear(_ out: Int) -> LayerSpec { LayerSpec("linear", ["out": .number(Double(out))]) }
        return ArchitectureSpec(name: "tabular",
                                encoder: [LayerSpec("flatten"), linear(hiddenUnits), LayerSpec("relu"), linear(codeSize)],
                                decoder: [linear(hiddenUnits), LayerSpec("relu"), linear(features)] + (output == "sigmoid" ? [LayerSpec("sigmoid")] : []))
    }

    /// `config` with the chosen settings in place of the library's defaults.
    public func applied(to config: TrainingConfig) -> TrainingConfig {
        var c = config
        (c.epochs, c.batchSize, c.validationFraction, c.patience) = (epochs, batchSize, validationFraction, patience)
        return c
    }

    /// One line: what was chosen and why.
    public var summary: String {
        let steps = epochs * batchesPerEpoch
        var parts = ["code \(codeSize) of \(features) inputs" + (kept.contains("codeSize") ? "" : " (a quarter: fewer than the inputs, so it cannot copy them)"),
                     "\(hiddenUnits) hidden ReLU units",
                     "\(output) output (\(output == "sigmoid" ? "unit scaling gives [0, 1]" : "the scaled values are unbounded"))",
                     "\(epochs) epochs of batch \(batchSize) = \(steps) optimizer steps on \(rows) rows"]
        if validationFraction > 0, let patience, !kept.contains("validationFraction"), !kept.contains("patience") {
            parts.append("\(Int((validationFraction * 100).rounded()))% held out to stop after \(patience) epochs without improvement")
        }
        if !kept.isEmpty { parts.append("kept your \(kept.joined(separator: ", "))") }
        return "defaults from the data: " + parts.joined(separator: ", ")
    }
}
