package org.fommtf.demo

import android.content.Context
import com.google.ai.edge.litert.Accelerator
import com.google.ai.edge.litert.CompiledModel
import com.google.ai.edge.litert.Environment
import com.google.ai.edge.litert.TensorBuffer
import org.fommtf.core.BufferedEngine
import org.fommtf.core.ContractException
import org.fommtf.core.GraphSpec
import org.fommtf.core.LiveSession
import org.fommtf.core.ModelContract
import org.fommtf.core.TensorSpec

/**
 * The core's engine on LiteRT 2.x: one [CompiledModel] per exported graph, loaded from the
 * app's assets (`model/`, written by `make android-assets`). [BufferedEngine] decides what to
 * write: the generator's per-source inputs go into their [TensorBuffer]s once per source.
 *
 * Created, run and closed on the core's inference thread ([Factory] is called there by
 * `LiveSession.load`): LiteRT's GPU path is never touched from two threads.
 *
 * CPU (XNNPACK) by default; with `gpu` the GPU accelerator (`litert-gpu`) is tried first and,
 * when it is missing or fails to compile a graph, the engine falls back to the CPU and says so
 * in [describe]. Each graph asset is checked against the contract's size and SHA-256 as a
 * stream (no copy of the graph on the Java heap), and the number of tensors and each output's
 * element count against the contract's shapes, before the first frame: a mismatch is a
 * [ContractException] naming the field.
 *
 * Tensors are bound by the contract's `position` (the graphs have no signatures; LiteRT orders
 * their buffers as the graph does). Quantized tensors (int8/uint8) are encoded and decoded with
 * the contract's scale and zero point.
 */
class LiteRtEngine private constructor(
    contract: ModelContract,
    private val environment: Environment,
    private val graphs: Map<String, Graph>,
    private val description: String,
) : BufferedEngine(contract) {

    private class Graph(
        val model: CompiledModel,
        val inputs: List<TensorBuffer>,
        val outputs: List<TensorBuffer>,
    ) {
        fun close() {
            inputs.forEach { it.close() }
            outputs.forEach { it.close() }
            model.close()
        }
    }

    private fun graph(spec: GraphSpec): Graph =
        graphs[spec.name] ?: throw IllegalArgumentException("no graph ${spec.name}")

    override fun write(graph: GraphSpec, input: TensorSpec, values: FloatArray) {
        val buffer = graph(graph).inputs[input.position]
        if (input.isQuantized) {
            buffer.writeInt8(input.quantization.quantizeToBytes(values, input.dtype))
        } else {
            buffer.writeFloat(values)
        }
    }

    override fun invoke(graph: GraphSpec) {
        val g = graph(graph)
        g.model.run(g.inputs, g.outputs)
    }

    override fun read(graph: GraphSpec, output: TensorSpec): FloatArray {
        val buffer = graph(graph).outputs[output.position]
        return if (output.isQuantized) output.quantization.dequantize(buffer.readInt8(), output.dtype)
        else buffer.readFloat()
    }

    override fun describe(): String = description

    override fun close() {
        graphs.values.forEach { it.close() }
        environment.close()
    }

    /** What `LiveSession.load` calls on the inference thread. */
    class Factory(context: Context) : LiveSession.EngineFactory {
        private val context = context.applicationContext

        override fun contract(): ModelContract = readContract(context)

        override fun create(contract: ModelContract, gpu: Boolean): LiteRtEngine =
            load(context, contract, gpu)
    }

    companion object {
        const val MODEL_DIR = "model"

        private fun checkDtypes(spec: GraphSpec) {
            for ((list, tensors) in listOf("inputs" to spec.inputs, "outputs" to spec.outputs)) {
                for (t in tensors) {
                    if (t.dtype != "float32" && !t.isQuantized) {
                        throw ContractException(
                            "graphs.${spec.name}.$list[${t.name}].dtype",
                            "${t.dtype}: the app feeds float32 or quantized int8/uint8 tensors",
                        )
                    }
                }
            }
        }

        /** The contract in the assets (a [ContractException] when it does not fit this app). */
        fun readContract(context: Context): ModelContract {
            val bytes = try {
                context.assets.open("$MODEL_DIR/model_contract.json").use { it.readBytes() }
            } catch (e: java.io.IOException) {
                throw ContractException(
                    "model_contract.json",
                    "no model in the app's assets ($MODEL_DIR/): run `make android-assets` " +
                        "in the repository and rebuild",
                )
            }
            return ModelContract.parse(bytes)
        }

        /** Load and check the three graphs; [useGpu] tries the GPU first. */
        fun load(context: Context, contract: ModelContract, useGpu: Boolean): LiteRtEngine {
            for (spec in contract.graphs().values) {
                checkDtypes(spec)
                context.assets.open("$MODEL_DIR/${spec.file}").use {
                    contract.verifyGraphStream(spec.name, it)
                }
            }
            val env = Environment.create()
            try {
                if (useGpu) {
                    val available = runCatching { env.getAvailableAccelerators() }
                        .getOrDefault(emptySet())
                    if (Accelerator.GPU !in available) {
                        val graphs = loadOn(context, contract, env, Accelerator.CPU)
                        return LiteRtEngine(
                            contract, env, graphs, "LiteRT CPU (XNNPACK): no GPU accelerator on this phone",
                        )
                    }
                    try {
                        return LiteRtEngine(
                            contract, env, loadOn(context, contract, env, Accelerator.GPU), "LiteRT GPU",
                        )
                    } catch (e: Exception) {
                        if (e is ContractException) throw e
                        val graphs = loadOn(context, contract, env, Accelerator.CPU)
                        return LiteRtEngine(
                            contract, env, graphs, "LiteRT CPU (XNNPACK): the GPU failed (${e.message})",
                        )
                    }
                }
                return LiteRtEngine(
                    contract, env, loadOn(context, contract, env, Accelerator.CPU), "LiteRT CPU (XNNPACK)",
                )
            } catch (e: Exception) {
                env.close()
                throw e
            }
        }

        /** Every graph compiled for [accelerator], or an exception (nothing left open). */
        private fun loadOn(
            context: Context,
            contract: ModelContract,
            env: Environment,
            accelerator: Accelerator,
        ): Map<String, Graph> {
            val graphs = LinkedHashMap<String, Graph>()
            try {
                for ((name, spec) in contract.graphs()) {
                    val model = CompiledModel.create(
                        context.assets,
                        "$MODEL_DIR/${spec.file}",
                        CompiledModel.Options(accelerator),
                        env,
                    )
                    try {
                        graphs[name] = bind(contract, spec, model)
                    } catch (e: Exception) {
                        model.close()
                        throw e
                    }
                }
            } catch (e: Exception) {
                graphs.values.forEach { it.close() }
                throw e
            }
            return graphs
        }

        private fun bind(contract: ModelContract, spec: GraphSpec, model: CompiledModel): Graph {
            val inputs = model.createInputBuffers()
            val outputs = model.createOutputBuffers()
            try {
                val sizes = IntArray(outputs.size) { i ->
                    val t = spec.outputs.firstOrNull { it.position == i }
                    if (t != null && t.isQuantized) outputs[i].readInt8().size else outputs[i].readFloat().size
                }
                contract.checkGraphSizes(spec.name, inputs.size, sizes)
            } catch (e: Exception) {
                inputs.forEach { it.close() }
                outputs.forEach { it.close() }
                throw e
            }
            return Graph(model, inputs, outputs)
        }
    }
}
