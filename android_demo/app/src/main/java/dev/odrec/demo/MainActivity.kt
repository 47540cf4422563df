package dev.odrec.demo

import android.os.Bundle
import androidx.activity.ComponentActivity
import androidx.activity.compose.setContent
import androidx.activity.enableEdgeToEdge
import dev.odrec.demo.ui.DemoApp
import dev.odrec.demo.ui.DemoTheme

/** The single screen of the demo; all state lives in [DemoViewModel]. */
class MainActivity : ComponentActivity() {
    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        enableEdgeToEdge()
        setContent {
            DemoTheme {
                DemoApp()
            }
        }
    }
}
