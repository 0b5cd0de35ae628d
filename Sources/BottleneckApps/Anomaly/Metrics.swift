import BottleneckCore
import BottleneckNN
import BottleneckData
import BottleneckTraining
/// Detection quality from scores and ground truth: the anomalies are the positives, and a higher
/// score means more anomalous.
public enum DetectionMetrics {
    /// Area under the ROC curve, exact: the Mann-Whitney statistic from ranks, tied scores sharing
    /// their average rank (a tie between an anomaly and a normal sample counts one half).
    public static func auroc(scores: [Float], anomalies: [Bool]) throws -> Double {
        let (p, n) = try counts(scores, anomalies, "AUROC")
        let order = scores.indices.sorted { scores[$0] < scores[$1] }
        var rankSum = 0.0, i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && scores[order[j + 1]] == scores[order[i]] { j += 1 }
            let averageRank = Double(i + j) / 2 + 1  // ranks are 1-based
            for k in i...j where anomalies[order[k]] { rankSum += averageRank }
            i = j + 1
        }
        let u = rankSum - Double(p) * Double(p + 1) / 2
        return u / (Double(p) * Double(n))
    }

    /// Average precision (scikit-learn's definition): the sum over score thresholds, highest first,
    /// of precision times the recall gained; tied scores form one threshold.
    public static func averagePrecision(scores: [Float], anomalies: [Bool]) throws -> Double {
        let (p, _) = try counts(scores, anomalies, "AUPRC")
        var ap = 0.0, previousRecall = 0.0
        for point in thresholdPoints(scores, anomalies) {
            let recall = Double(point.truePositives) / Double(p)
            let precision = Double(point.truePositives) / Double(point.truePositives + point.falsePositives)
            ap += (recall - previousRecall) * precision
            previousRecall = recall
        }
        return ap
    }

    /// ROC curve points from (0, 0) to (1, 1), one per distinct score: flagging every score at or
    /// above `thresholds[i]` gives false-positive rate `falsePositiveRates[i]` and true-positive
    /// rate `truePositiveRates[i]` (the first point's threshold is +infinity: nothing flagged).
    public static func rocCurve(scores: [Float], anomalies: [Bool]) throws -> ROCCurve {
        let (p, n) = try counts(scores, anomalies, "ROC curve")
        var curve = ROCCurve(thresholds: [.infinity], falsePositiveRates: [0], truePositiveRates: [0])
        for point in thresholdPoints(scores, anomalies) {
            curve.thresholds.append(Double(point.threshold))
            curve.falsePositiveRates.append(Double(point.falsePositives) / Double(n))
            curve.truePositiveRates.append(Double(point.truePositives) / Double(p))
        }
        return curve
    }

    /// Precision and recall after each group of tied scores, highest scores first (the points
    /// `averagePrecision` sums over).
    public static func precisionRecallCurve(scores: [Float], anomalies: [Bool]) throws -> PrecisionRecallCurve {
        let (p, n) = try counts(scores, anomalies, "precision-recall curve")
        var curve = PrecisionRecallCurve(thresholds: [], recalls: [], precisions: [], positiveShare: Double(p) / Double(p + n))
        for point in thresholdPoints(scores, anomalies) {
            curve.thresholds.append(Double(point.threshold))
            curve.recalls.append(Double(point.truePositives) / Double(p))
            curve.precisions.append(Double(point.truePositives) / Double(point.truePositives + point.falsePositives))
        }
        return curve
    }

    /// Counts of flagged versus true anomalies.
    public static func confusion(flags: [Bool], anomalies: [Bool]) -> ConfusionCounts {
        precondition(flags.count == anomalies.count, "confusion: \(flags.count) flags for \(anomalies.count) labels")
        var c = ConfusionCounts()
        for (f, a) in zip(flags, anomalies) {
            switch (f, a) {
            case (true, true): c.truePositives += 1
            case (true, false): c.falsePositives += 1
            case (false, true): c.falseNegatives += 1
            case (false, false): c.trueNegatives += 1
            }
        }
        return c
    }

    /// Cumulative counts after each group of tied scores, highest scores first.
    static func thresholdPoints(_ scores: [Float], _ anomalies: [Bool]) -> [(threshold: Float, truePositives: Int, falsePositives: Int)] {
        let order = scores.indices.sorted { scores[$0] > scores[$1] }
        var points: [(Float, Int, Int)] = []
        var tp = 0, fp = 0, i = 0
        while i < order.count {
            let s = scores[order[i]]
            while i < order.count && scores[order[i]] == s {
                if anomalies[order[i]] { tp += 1 } else { fp += 1 }
                i += 1
            }
            points.append((s, tp, fp))
        }
        return points
    }

    private static func counts(_ scores: [Float], _ anomalies: [Bool], _ what: String) throws -> (positives: Int, negatives: Int) {
        precondition(scores.count == anomalies.count, "\(what): \(scores.count) scores for \(anomalies.count) labels")
        if let bad = scores.firstIndex(where: { !$0.isFinite }) {
            throw BottleneckError("\(what): score \(bad) is \(scores[bad]), not a finite number")
        }
        let p = anomalies.filter { $0 }.count, n = anomalies.count - p
        guard p > 0, n > 0 else {
            throw BottleneckError("\(what) needs both normal and anomalous samples, got \(p) anomalies and \(n) normal")
        }
        return (p, n)
    }
}

public struct PrecisionRecallCurve: Codable, Equatable {
    public var thresholds: [Double]
    public var recalls: [Double]
    public var precisions: [Double]
    /// The anomalies' share of the samples: the precision of flagging at random.
    public var positiveShare: Double
}

public struct ROCCurve: Codable, Equatable {
    public var thresholds: [Double]
    public var falsePositiveRates: [Double]
    public var truePositiveRates: [Double]
}

/// A confusion matrix of anomaly flags (anomalies are the positives).
public struct ConfusionCounts: Codable, Equatable {
    public var truePositives = 0, falsePositives = 0, falseNegatives = 0, trueNegatives = 0

    public init() {}

    /// Flagged samples that are anomalies (0 when nothing is flagged, as scikit-learn reports).
    public var precision: Double { ratio(truePositives, truePositives + falsePositives, empty: 0) }
    /// Anomalies that were flagged.
    public var recall: Double { ratio(truePositives, truePositives + falseNegatives, empty: 0) }
    public var f1: Double { precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0 }
    /// Normal samples that were flagged.
    public var falsePositiveRate: Double { ratio(falsePositives, falsePositives + trueNegatives, empty: 0) }

    private func ratio(_ a: Int, _ b: Int, empty: Double) -> Double { b == 0 ? empty : Double(a) / Double(b) }
}
